"""What the domain's ports are made of: Kafka, Redis and the process bootstrap."""
