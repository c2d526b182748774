"""The explorers (interactive figures) of each chapter, one module per chapter.

Each module-level :class:`gdlens.plotting.Explorer` is found by the tests, which draw it at every
combination of its controls' extremes, and by the benchmarks, which time its updates.
"""
