"""``python -m cacheaudit``: the same entry as the ``cacheaudit`` console script."""

from cacheaudit.entry import console

if __name__ == "__main__":
    console()
