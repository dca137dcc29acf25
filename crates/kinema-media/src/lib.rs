//! Character decoding and matting; clip encoders (MP4, GIF, APNG, PNG frames) and readers.
