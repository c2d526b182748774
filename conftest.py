"""Shared pytest set-up for the library tests and for nbval over the chapters."""

import nbval.kernel
from hypothesis import settings


def _execute_with_history(self, cell_input, allow_stdin=None):
    # nbval runs cells with store_history=False, which makes IPython ignore a trailing semicolon,
    # so `plt.plot(...);` would store nothing in Jupyter but print `[<Line2D ...>]` under nbval.
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)


nbval.kernel.RunningKernel.execute_cell_input = _execute_with_history

# Property tests draw the same examples on every run, so that a test run, like a chapter, is reproducible.
settings.register_profile("gdlens", derandomize=True, deadline=None)
settings.load_profile("gdlens")
