"""Pictures in and out: reading and writing image files (8- and 16-bit, TIFF, .npy), colour
handling, the gallery's paintings and the built-in sample pair."""
