"""`python -m kco_sandbox` is the same command line as `kco-sandbox`."""

from kco_sandbox.cli import main

if __name__ == "__main__":
    main()
