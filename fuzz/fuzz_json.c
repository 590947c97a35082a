/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * libFuzzer target: the json decoder.  Checksums are not verified (random
 * input never matches one), so everything behind them is reached.
 */
#include "fuzz_common.h"

static int
decode(ckp_doc_t *doc, const uint8_t *d, size_t n)
{
	return ckp__json_decode(doc, (const char *)d, n, "fuzz", CKP_LOAD_NOVERIFY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(data, size, decode);
}
