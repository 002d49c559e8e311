// SPDX-License-Identifier: GPL-2.0-only
/*
 * fnmatch() for the static helper, in place of the C library's.
 *
 * libkmod calls fnmatch(pattern, string, 0) to match module aliases and
 * names: the patterns come from modules.alias(.bin), modprobe.d and the
 * kernel (`*`, `?`, `[a-z]`, `[!x]`), the strings are module names and
 * aliases, both plain ASCII.  musl's fnmatch handles every multibyte locale,
 * and its character classes drag in the wide-character tables (iswalpha,
 * iswpunct: about 16 KiB of the 120 KiB helper).  Linking this file instead
 * matches byte by byte in the C locale, which is the locale the helper runs
 * in (it never calls setlocale), with the same results as musl 1.2 for
 * flags 0 and FNM_NOESCAPE:
 *   - `\x` matches x; a `\` at the end of the pattern matches itself;
 *   - `[` opens a bracket expression only if a closing `]` follows; `!` or
 *     `^` first negates; a `]` or `-` first is a member; `a-z` ranges compare
 *     byte values; `[:class:]` uses the C locale's <ctype.h> classes (an
 *     unknown class matches nothing); `[.c.]` and `[=c=]` match nothing, and
 *     `\` is an ordinary byte inside brackets (musl's rules);
 *   - `*` and `?` match any byte, `/` and a leading `.` included.
 * Other flags are not used by libkmod or daxbus: they give FNM_NOMATCH
 * rather than a silently different answer.  tests/fnmatch.sh compares this
 * with musl's fnmatch over every alias of a real kernel and random patterns.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <string.h>

#ifndef DAXBUS_FNMATCH
#define DAXBUS_FNMATCH fnmatch
#endif

/* Does the [:NAME:] class (LEN bytes at NAME) hold byte C?  Unknown names
 * hold nothing. */
static bool class_has(const char *name, size_t len, unsigned char c)
{
	static const struct {
		const char *name;
		int (*is)(int);
	} classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank },
		{ "cntrl", iscntrl }, { "digit", isdigit }, { "graph", isgraph },
		{ "lower", islower }, { "print", isprint }, { "punct", ispunct },
		{ "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == len && memcmp(classes[i].name, name, len) == 0)
			return classes[i].is(c);
	return false;
}

/*
 * The end of the bracket expression whose `[` is just before P: its closing
 * `]`, or NULL if there is none (then the `[` is a plain byte).  A `]` right
 * after the `[` or its `!`/`^` is a member, and so is anything inside a
 * [:...:], [. .] or [= =] item, which must itself be closed.
 */
static const char *bracket_end(const char *p)
{
	if (*p == '!' || *p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p && *p != ']'; p++) {
		if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char kind = p[1];

			/* the item's text starts after "[:" and is at least
			 * one byte long, so "[:]" does not close it */
			p += 2;
			if (*p)
				p++;
			while (*p && !(p[-1] == kind && *p == ']'))
				p++;
			if (!*p)
				return NULL;
		}
	}
	return *p ? p : NULL;
}

/*
 * Is byte C in the bracket expression starting just after its `[` at P (its
 * end is known to exist)?  A range runs from the byte before the `-` to the
 * one after it; that end byte is then read again as a member of its own, as
 * musl does.  [. .] and [= =] items match nothing.
 */
static bool bracket_has(const char *p, unsigned char c)
{
	bool negate = false;
	unsigned char prev;

	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	if (*p == ']' || *p == '-') {
		if (c == (unsigned char)*p)
			return !negate;
		p++;
	}
	prev = (unsigned char)p[-1];
	for (; *p != ']'; p++) {
		if (p[0] == '-' && p[1] != ']') {
			if (prev <= c && c <= (unsigned char)p[1])
				return !negate;
			continue;
		}
		if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *name = p + 2;
			char kind = p[1];

			for (p += 3; !(p[-1] == kind && *p == ']'); p++)
				;
			if (kind == ':' && class_has(name, (size_t)(p - 1 - name), c))
				return !negate;
			continue;
		}
		prev = (unsigned char)*p;
		if (prev == c)
			return !negate;
	}
	return negate;
}

static int match_here(const char *pat, const char *str, bool noescape)
{
	/* The last `*` seen and the string position it is tried from: a failed
	 * match after it backtracks there with one more byte eaten. */
	const char *star_pat = NULL, *star_str = NULL;

	for (;;) {
		if (*pat == '*') {
			while (*pat == '*')
				pat++;
			star_pat = pat;
			star_str = str;
			continue;
		}
		if (*str == '\0') {
			if (*pat == '\0')
				return 0;
			goto backtrack;
		}
		if (*pat == '\0')
			goto backtrack;
		if (*pat == '?') {
			pat++;
			str++;
			continue;
		}
		if (*pat == '[') {
			const char *end = bracket_end(pat + 1);

			if (end) {
				if (!bracket_has(pat + 1, (unsigned char)*str))
					goto backtrack;
				pat = end + 1;
				str++;
				continue;
			}
			/* no closing bracket: a literal `[` */
		}
		if (*pat == '\\' && !noescape && pat[1])
			pat++;
		if (*pat != *str)
			goto backtrack;
		pat++;
		str++;
		continue;
backtrack:
		if (!star_pat || *star_str == '\0')
			return FNM_NOMATCH;
		pat = star_pat;
		str = ++star_str;
	}
}

int DAXBUS_FNMATCH(const char *pattern, const char *string, int flags)
{
	if (flags & ~FNM_NOESCAPE)
		return FNM_NOMATCH;
	return match_here(pattern, string, flags & FNM_NOESCAPE);
}
