/* The ABI 1.0 layout, compiled against the frozen 1.0 header (tests/adapters/abi/v1_0). The test
 * compares it with the same list compiled against the current header. */
#include <stddef.h>

#include "mixer/adapter_sdk/mixer_adapter.h"

#define FIELD(s, f) (long long)offsetof(s, f),
#define EXACT_SIZE(s) (long long)sizeof(s),
#define CONSTANT(c) (long long)(c),
const long long mixer_abi_layout_v1_0[] = {
#include "layout_fields.inc"
};
const size_t mixer_abi_layout_v1_0_count =
    sizeof(mixer_abi_layout_v1_0) / sizeof(mixer_abi_layout_v1_0[0]);
