// SPDX-License-Identifier: GPL-2.0-only
/*
 * Differential test of helper/fnmatch.c (built as daxbus_fnmatch) against
 * the C library's fnmatch, with flags 0 and FNM_NOESCAPE.
 *   compare random N SEED     N random pattern/string pairs over a small
 *                             alphabet rich in *, ?, [, ], !, ^, -, \, :
 *   compare pairs             reads "pattern<TAB>string" lines on stdin
 *   compare aliases           reads one pattern a line on stdin (a kernel's
 *                             modules.alias): each is tried against strings
 *                             made from it and from its neighbours (every
 *                             `*` as nothing or as "x9", every `?` and
 *                             bracket as one byte, the pattern itself)
 * Prints the first disagreements and "compared N, matched K, differ M";
 * exits 1 if M > 0.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int daxbus_fnmatch(const char *pattern, const char *string, int flags);

static unsigned long compared, differ, matched;

static void check(const char *p, const char *s)
{
	static const int flags[] = { 0, FNM_NOESCAPE };

	for (unsigned i = 0; i < 2; i++) {
		int want = fnmatch(p, s, flags[i]) == 0, got = daxbus_fnmatch(p, s, flags[i]) == 0;

		compared++;
		matched += want;
		if (want != got) {
			differ++;
			if (differ <= 20)
				printf("differ: flags=%d pattern='%s' string='%s' libc=%s ours=%s\n", flags[i], p, s,
				       want ? "match" : "no match", got ? "match" : "no match");
		}
	}
}

static unsigned long long rng;
static unsigned rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng >> 33) % n;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "random") == 0) {
		static const char *const atoms[] = { "*", "?", "[", "]", "!", "^", "-", "\\", "a", "b", "c", "z",
						     "A", "0", "9", ":", ".", "=", "/", "[:alpha:]", "[:digit:]",
						     "[:upper:]", "[:nope:]", "[.a.]", "[=b=]", "a-c", "*" };
		static const char chars[] = "abczA09:.=/-]![^\\*?";
		unsigned long n = strtoul(argv[2], NULL, 10);

		rng = strtoull(argv[3], NULL, 10);
		for (unsigned long i = 0; i < n; i++) {
			char p[64] = "", s[16] = "";
			unsigned np = rnd(8), ns = rnd(8);

			for (unsigned j = 0; j < np; j++) {
				const char *a = atoms[rnd(sizeof(atoms) / sizeof(atoms[0]))];
				if (strlen(p) + strlen(a) < sizeof(p))
					strcat(p, a);
			}
			for (unsigned j = 0; j < ns; j++)
				s[j] = chars[rnd(sizeof(chars) - 1)];
			s[ns] = '\0';
			check(p, s);
		}
	} else if (argc == 2 && strcmp(argv[1], "pairs") == 0) {
		char line[8192];

		while (fgets(line, sizeof(line), stdin)) {
			char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			if (!tab)
				continue;
			*tab = '\0';
			check(line, tab + 1);
		}
	} else if (argc == 2 && strcmp(argv[1], "aliases") == 0) {
		enum { WINDOW = 8 };
		static char pats[WINDOW][512];
		char line[512];
		unsigned long n = 0;

		while (fgets(line, sizeof(line), stdin)) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			snprintf(pats[n % WINDOW], sizeof(pats[0]), "%s", line);
			n++;
			/* the newest pattern against strings from each of the last WINDOW */
			for (unsigned w = 0; w < WINDOW && w < n; w++) {
				const char *src = pats[(n - 1 - w) % WINDOW];
				for (unsigned variant = 0; variant < 3; variant++) {
					char str[1100];
					size_t o = 0;

					for (const char *q = src; *q && o < sizeof(str) - 4; q++) {
						if (variant == 2) {
							str[o++] = *q;
						} else if (*q == '*') {
							if (variant == 1) {
								str[o++] = 'x';
								str[o++] = '9';
							}
						} else if (*q == '?') {
							str[o++] = 'A';
						} else if (*q == '[' && strchr(q, ']')) {
							const char *e = strchr(q + 1, ']');
							str[o++] = variant ? e[-1] : q[1];
							q = e;
						} else {
							str[o++] = *q;
						}
					}
					str[o] = '\0';
					check(pats[(n - 1) % WINDOW], str);
				}
			}
		}
	} else {
		fprintf(stderr, "usage: compare random N SEED | compare pairs | compare aliases\n");
		return 2;
	}
	printf("compared %lu, matched %lu, differ %lu\n", compared, matched, differ);
	return differ ? 1 : 0;
}
