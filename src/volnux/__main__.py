"""``python -m volnux``: the same as the ``volnux`` command."""

from volnux.cli import main

if __name__ == "__main__":
    main()
