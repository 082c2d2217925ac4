"""The GitHub Action: its inputs, the runner's environment and the files it writes back."""
