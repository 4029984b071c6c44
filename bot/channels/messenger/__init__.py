"""Facebook Messenger channel: webhook, Send API client, flows (issue 8)."""
