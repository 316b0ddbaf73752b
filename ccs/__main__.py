from ccs.cli import main

main()
