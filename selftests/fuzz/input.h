/* SPDX-License-Identifier: GPL-2.0 */
/*
 * input.h - the fuzzers' reader of their input: little-endian integers
 * taken off the front of libFuzzer's buffer, zero once it runs out (so
 * every input, however short, is a complete test case).
 */
#ifndef VHX_FUZZ_INPUT_H
#define VHX_FUZZ_INPUT_H

struct in {
	const u8 *p;
	size_t n;
};

static inline u64 take(struct in *in, int bytes)
{
	u64 v = 0;
	int i;

	for (i = 0; i < bytes && in->n; i++, in->n--, in->p++)
		v |= (u64)*in->p << (8 * i);
	return v;
}

#endif
