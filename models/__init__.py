"""dondoc's domain and its storage: pure rules, SQLModel tables and the store."""
