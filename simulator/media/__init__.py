"""Real media for the audio and image operations: reading uploaded audio, making speech and pictures.

Each module imports its codec library (mutagen, PyAV, Pillow) when first used, so chat and embeddings
instances never pay for them at start-up.
"""
