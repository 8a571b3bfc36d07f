"""aoai-simulator: an Azure OpenAI API simulator for load tests."""
