"""Markers of the tests in tests/ (the repository's conftest.py holds the shared set-up)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "colab: a chapter in a bare Colab-like environment; environment.yml for Binder")
