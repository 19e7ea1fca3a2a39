"""Running an app's agent: its code in the sandbox, its workspace, its tools and the model's tool loop."""
