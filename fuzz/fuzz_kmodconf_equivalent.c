// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the policy equivalence check.  The input is two
 * modprobe.d texts A and B, split at the first "\n===\n" (or the middle).
 * Besides not crashing, the check must be an equivalence: A ~ A, A ~ B
 * exactly when B ~ A, and the normalized form of A is equivalent to A.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmodconf.h"

static const char SEP[] = "\n===\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *a = (const char *)data, *b;
	size_t alen, blen;
	const char *sep = memmem(data, size, SEP, sizeof(SEP) - 1);
	char *norm = NULL;
	size_t nlen = 0;

	if (sep) {
		alen = (size_t)(sep - a);
		b = sep + sizeof(SEP) - 1;
		blen = size - alen - (sizeof(SEP) - 1);
	} else {
		alen = size / 2;
		b = a + alen;
		blen = size - alen;
	}
	/* copies, so that ASan sees reads past the end of each text */
	char *ca = malloc(alen ? alen : 1), *cb = malloc(blen ? blen : 1);
	if (!ca || !cb)
		abort();
	memcpy(ca, a, alen);
	memcpy(cb, b, blen);

	bool ab = kmodconf_equivalent(ca, alen, cb, blen);
	bool ba = kmodconf_equivalent(cb, blen, ca, alen);
	if (ab != ba)
		abort(); /* not symmetric */
	if (alen <= KMODCONF_MAX && !kmodconf_equivalent(ca, alen, ca, alen))
		abort(); /* not reflexive */
	/*
	 * A text ending in an unescaped backslash is the one kmod 28-33 and 34
	 * read differently (the former keep a 0xff byte, daxbus(8) lists it):
	 * normalizing follows kmod 34, so under both readings at once it cannot
	 * be equivalent, and the policy judgement asks for both anyway.
	 */
	size_t tail = 0;
	while (tail < alen && ca[alen - 1 - tail] == '\\')
		tail++;
	if (tail % 2 == 0 && alen <= KMODCONF_MAX / 4 && kmodconf_normalize(ca, alen, &norm, &nlen) == 0) {
		if (nlen <= KMODCONF_MAX && !kmodconf_equivalent(ca, alen, norm, nlen))
			abort(); /* normalizing changed what kmod reads */
		free(norm);
	}
	(void)kmodconf_mentions_dax(cb, blen);
	free(ca);
	free(cb);
	return 0;
}
