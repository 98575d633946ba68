"""Sign-off where code merges: AI-made pull requests become sign-off requests, and each
pull request head gets a check run mirroring its request (bot/github_* speak to GitHub)."""
