"""The parts of ``make bench`` (bench/run.py): one module per figure, a to f."""
