"""Where user commands run: bubblewrap when it works, else a confined subprocess (weaker; announced at start)."""
