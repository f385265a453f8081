//! Lua scripting: EVAL/EVALSHA, SCRIPT, FUNCTION/FCALL (engine: embedded Lua 5.1 via mlua).
//!
//! `libs` holds the libraries Redis adds to Lua (cjson, cmsgpack, bit, struct), written here.

pub mod libs;
