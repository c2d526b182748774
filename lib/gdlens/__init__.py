"""gdlens: the library behind the book *Why gradient descent works*.

Every algorithm the chapters use lives here, tested: optimizers as pure update rules
(:mod:`gdlens.optimizers`), the shared test problems (:mod:`gdlens.landscapes`), the book's figure
style and explorers (:mod:`gdlens.plotting`), and one module per further idea.
"""

__version__ = "0.1.0"
