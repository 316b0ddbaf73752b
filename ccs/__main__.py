from ccs.cli import main

# The guard matters: the billing import parses big files in spawned worker processes, which
# import this module again.
if __name__ == "__main__":
    main()
