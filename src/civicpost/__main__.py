from civicpost.cli import main

main()
