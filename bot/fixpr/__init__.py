"""The fix pull request: its title, its body and the state the bot keeps inside the body."""
