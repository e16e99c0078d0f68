from mlform.cli import main

main()
