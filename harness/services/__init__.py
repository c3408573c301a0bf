"""Services the environment is made of: PostgreSQL, Redis, the AWS emulator, per backend."""
