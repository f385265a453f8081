//! stub
use super::State;
pub(crate) unsafe fn open(l: State) {
    mlua::ffi::lua_createtable(l, 0, 0);
}
