//! Wire codecs: the greeting, frames, command bodies and Z85 text.
//!
//! Each file is one wire concept. Encoders append to a `Vec<u8>` (or write into a slice sized
//! beforehand); decoders borrow from their input and return `Ok(None)` when it is too short.

pub mod command;
pub mod encoded;
pub mod frame;
pub mod greeting;
pub mod z85;
