# cmake -DHEADER=<mixer_adapter.h> -DLOCK=<abi.lock> [-DUPDATE=ON] -P CheckAbiLock.cmake
#
# abi.lock records the ABI version and the SHA-256 of the header at that version. Any change to the
# header must come with a version bump (MINOR for append-only changes, MAJOR otherwise) and a new
# lock; a change without a bump fails here, and so fails the build.
if(NOT HEADER OR NOT LOCK)
  message(FATAL_ERROR "usage: cmake -DHEADER=... -DLOCK=... [-DUPDATE=ON] -P CheckAbiLock.cmake")
endif()
file(STRINGS ${HEADER} major REGEX "^#define MIXER_ADAPTER_ABI_VERSION_MAJOR [0-9]+$")
file(STRINGS ${HEADER} minor REGEX "^#define MIXER_ADAPTER_ABI_VERSION_MINOR [0-9]+$")
if(NOT major OR NOT minor)
  message(FATAL_ERROR "${HEADER}: MIXER_ADAPTER_ABI_VERSION_MAJOR/MINOR not found")
endif()
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" major "${major}")
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" minor "${minor}")
set(version "${major}.${minor}")
file(SHA256 ${HEADER} hash)

if(UPDATE)
  file(WRITE ${LOCK}
    "# The adapter ABI header (adapters/sdk/include/mixer/adapter_sdk/mixer_adapter.h) at the\n"
    "# recorded version. Changing the header without bumping the version fails the build; after a\n"
    "# deliberate bump, regenerate with: cmake --build <build dir> --target abi_lock_update\n"
    "version ${version}\n"
    "sha256 ${hash}\n")
  message(STATUS "abi.lock: version ${version}, sha256 ${hash}")
  return()
endif()

file(STRINGS ${LOCK} lock_version REGEX "^version ")
file(STRINGS ${LOCK} lock_hash REGEX "^sha256 ")
string(REGEX REPLACE "^version " "" lock_version "${lock_version}")
string(REGEX REPLACE "^sha256 " "" lock_hash "${lock_hash}")

if(hash STREQUAL lock_hash AND version STREQUAL lock_version)
  return()
endif()
if(version STREQUAL lock_version)
  message(FATAL_ERROR
    "${HEADER} changed but MIXER_ADAPTER_ABI_VERSION is still ${version}.\n"
    "Every change to the adapter ABI header needs a version bump: MINOR for append-only changes "
    "(new fields at the end of a size-prefixed struct, new codes, new optional hooks), MAJOR for "
    "anything else. Then run: cmake --build <build dir> --target abi_lock_update")
endif()
if(hash STREQUAL lock_hash)
  message(FATAL_ERROR "${LOCK} says version ${lock_version} but the header says ${version} with "
                      "the same content; fix abi.lock")
endif()
message(FATAL_ERROR
  "The adapter ABI version changed (${lock_version} -> ${version}); record the new header in "
  "abi.lock: cmake --build <build dir> --target abi_lock_update")
