"""The agent loop: model providers, the system prompt, stored chats, the tool loop and its UI-message stream."""
