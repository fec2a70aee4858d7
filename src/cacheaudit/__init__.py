"""cacheaudit: score how well a repository caches its dependency installs."""

__version__ = "0.1.0"
