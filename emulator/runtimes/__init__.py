"""The Lambda Node.js runtime catalogue and the Node releases that back it locally."""
