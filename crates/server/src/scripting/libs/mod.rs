//! The Lua libraries Redis provides to scripts besides Lua's own: `cjson`, `cmsgpack`, `bit`
//! and `struct`, written in Rust with Redis's observable behaviour.

/// Registers every library as a global table in `lua`.
pub fn register(_lua: &mlua::Lua) -> mlua::Result<()> {
    Ok(())
}
