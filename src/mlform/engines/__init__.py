"""The only code that starts external programs (git, dvc, the background server): one
runner, clear user errors when a program is missing or a command fails."""
