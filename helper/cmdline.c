// SPDX-License-Identifier: GPL-2.0-only
/* Kernel command line: dracut's sources, the kernel's splitting.  See cmdline.h. */
#include <dirent.h>

#include "chase.h"
#include "cmdline.h"
#include "fileio.h"
#include "log.h"
#include "util.h"

#define CMDLINE_SOURCE_MAX (64 * 1024)

struct acc {
	char *buf;
	size_t len;
};

static bool kspace(char c);

/*
 * Append a source: NUL bytes dropped (the shell's read drops them too), lines
 * joined by spaces, white space at either end trimmed (as `read` does), one
 * space between sources, none after the last, so a quote left open at the
 * very end takes just the rest of the line, as in the kernel.
 */
static int append(struct acc *a, const char *text, size_t len)
{
	char *p;

	while (len > 0 && (kspace(text[len - 1]) || text[len - 1] == '\0'))
		len--;
	while (len > 0 && (kspace(*text) || *text == '\0'))
		text++, len--;
	if (len == 0)
		return 0;
	p = realloc(a->buf, a->len + len + 2);
	if (!p)
		return -ENOMEM;
	a->buf = p;
	if (a->len > 0)
		p[a->len++] = ' ';
	for (size_t i = 0; i < len; i++)
		if (text[i] != '\0')
			p[a->len++] = text[i] == '\n' ? ' ' : text[i];
	p[a->len] = '\0';
	return 0;
}

static int append_file(int rootfd, const char *path, struct acc *a)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = read_file_beneath(rootfd, path, CMDLINE_SOURCE_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_warning_errno(r, "kernel command line source /%s skipped: %m", path);
		return 0;
	}
	return append(a, text, len);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .conf files of DIR in glob order (C collation, as in an initramfs). */
static int append_dir(int rootfd, const char *dir, struct acc *a)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r;

	r = chase_opendir(rootfd, dir, 0, &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_warning_errno(r, "kernel command line directory /%s skipped: %m", dir);
		return 0;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (de->d_name[0] == '.' || !endswith(de->d_name, ".conf"))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			free(nn ? nn : names);
			closedir(d);
			return -ENOMEM;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	r = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;

		if (r == 0 && asprintf(&path, "%s/%s", dir, names[i]) < 0)
			r = -ENOMEM;
		if (r == 0)
			r = append_file(rootfd, path, a);
		free(names[i]);
	}
	free(names);
	return r;
}

int cmdline_read(int rootfd, char **ret)
{
	struct acc a = { .buf = strdup(""), .len = 0 };
	int r;

	if (!a.buf)
		return -ENOMEM;
	r = append_dir(rootfd, "etc/cmdline.d", &a);
	if (r == 0)
		r = append_file(rootfd, "etc/cmdline", &a);
	if (r == 0)
		r = append_file(rootfd, "proc/cmdline", &a);
	if (r == 0)
		r = append_dir(rootfd, "run/initramfs/cmdline.d", &a);
	if (r < 0) {
		free(a.buf);
		return r;
	}
	*ret = a.buf;
	return 0;
}

/* The kernel's isspace(): ASCII white space and Latin-1's no-break space. */
static bool kspace(char c)
{
	unsigned char u = (unsigned char)c;

	return u == ' ' || (u >= '\t' && u <= '\r') || u == 0xa0;
}

/*
 * The next parameter of S like the kernel's next_arg(): KEY and VALUE are
 * copied into BUF (VALUE NULL when there is no "=").  Returns where the next
 * parameter starts, or NULL at the end.
 */
static const char *next_param(const char *s, char *buf, size_t size, char **ret_key, char **ret_value)
{
	size_t i, n, equals = 0;
	bool in_quote = false, quoted = false;
	char *k, *v = NULL;

	while (kspace(*s))
		s++;
	if (!*s)
		return NULL;
	if (*s == '"') {
		s++;
		in_quote = quoted = true;
	}
	for (i = 0; s[i]; i++) {
		if (kspace(s[i]) && !in_quote)
			break;
		if (equals == 0 && s[i] == '=')
			equals = i;
		if (s[i] == '"')
			in_quote = !in_quote;
	}
	n = i < size - 1 ? i : size - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	k = buf;
	if (equals && equals < n) {
		buf[equals] = '\0';
		v = buf + equals + 1;
		if (*v == '"') {
			v++;
			if (n > 0 && buf[n - 1] == '"')
				buf[n - 1] = '\0';
		}
	}
	if (quoted && n > 0 && buf[n - 1] == '"')
		buf[n - 1] = '\0';
	*ret_key = k;
	*ret_value = v;
	return s + i;
}

int cmdline_get(const char *cmdline, const char *key, char **ret_value)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = strlen(cmdline) + 1;
	char *value = NULL;
	int found = 0;
	const char *p = cmdline;
	char *k, *v;

	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	while ((p = next_param(p, buf, size, &k, &v))) {
		if (!streq(k, key))
			continue;
		free(value);
		value = NULL;
		if (v && !(value = strdup(v)))
			return -ENOMEM;
		found = 1;
	}
	if (found)
		*ret_value = value;
	return found;
}

bool cmdline_get_bool(const char *cmdline, const char *key, bool def)
{
	_cleanup_free_ char *v = NULL;
	int r = cmdline_get(cmdline, key, &v);

	if (r <= 0)
		return def;
	if (!v || !*v || streq(v, "1") || streq(v, "yes") || streq(v, "on") || streq(v, "true"))
		return true;
	if (streq(v, "0") || streq(v, "no") || streq(v, "off"))
		return false;
	log_warning("%s=%s: dracut reads any value but 0, no and off as true; so does daxbus (use 0 or 1)", key, v);
	return true;
}
