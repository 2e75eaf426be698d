# CMake toolchain for the WebAssembly build: Debian's Emscripten 3.1.6, with tests run by Node.
include(/usr/share/emscripten/cmake/Modules/Platform/Emscripten.cmake)

# Node 20 has fetch(); Emscripten's loader then tries to fetch the .wasm by path and fails.
set(CMAKE_CROSSCOMPILING_EMULATOR "node;--no-experimental-fetch" CACHE STRING "" FORCE)

# Emscripten's JS optimiser needs Debian's acorn at every link.
set(CMAKE_C_LINKER_LAUNCHER "env;NODE_PATH=/usr/share/nodejs" CACHE STRING "" FORCE)
set(CMAKE_CXX_LINKER_LAUNCHER "env;NODE_PATH=/usr/share/nodejs" CACHE STRING "" FORCE)

# A signature mismatch between wasm objects links into a trapping stub: make it a link error.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--fatal-warnings")
