// SPDX-License-Identifier: GPL-2.0-only
/* Kernel command line: dracut's sources, the kernel's splitting.  See cmdline.h. */
#include <dirent.h>

#include "chase.h"
#include "cmdline.h"
#include "fileio.h"
#include "log.h"
#include "util.h"

#define CMDLINE_SOURCE_MAX (64 * 1024)

static bool kspace(char c);

/*
 * Add a source: NUL bytes dropped (the shell's read drops them too), lines
 * joined by spaces, white space at either end trimmed (as `read` does).
 */
static int add_source(struct cmdline *c, const char *text, size_t len)
{
	char **ns, *p;
	size_t n = 0;

	while (len > 0 && (kspace(text[len - 1]) || text[len - 1] == '\0'))
		len--;
	while (len > 0 && (kspace(*text) || *text == '\0'))
		text++, len--;
	if (len == 0)
		return 0;
	ns = realloc(c->src, (c->n + 1) * sizeof(*c->src));
	if (!ns)
		return -ENOMEM;
	c->src = ns;
	p = malloc(len + 1);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		if (text[i] != '\0')
			p[n++] = text[i] == '\n' ? ' ' : text[i];
	p[n] = '\0';
	c->src[c->n++] = p;
	return 0;
}

static int add_file(int rootfd, const char *path, struct cmdline *c)
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
	return add_source(c, text, len);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .conf files of DIR in glob order (C collation, as in an initramfs). */
static int add_dir(int rootfd, const char *dir, struct cmdline *c)
{
	_cleanup_closedir_ DIR *d = NULL;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
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
			if (nn)
				names = nn;
			r = -ENOMEM;
			break;
		}
		names = nn;
		n++;
	}
	if (r == 0 && n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;

		if (r == 0 && asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			path = NULL;
			r = -ENOMEM;
		}
		if (r == 0)
			r = add_file(rootfd, path, c);
		free(names[i]);
	}
	free(names);
	return r;
}

int cmdline_read(int rootfd, struct cmdline *ret)
{
	struct cmdline c = { 0 };
	int r;

	r = add_dir(rootfd, "etc/cmdline.d", &c);
	if (r == 0)
		r = add_file(rootfd, "etc/cmdline", &c);
	if (r == 0)
		r = add_file(rootfd, "proc/cmdline", &c);
	if (r == 0)
		r = add_dir(rootfd, "run/initramfs/cmdline.d", &c);
	if (r < 0) {
		cmdline_free(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void cmdline_free(struct cmdline *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->src[i]);
	free(c->src);
	*c = (struct cmdline){ 0 };
}

void cmdline_from_string(const char *text, struct cmdline *ret, char **slot)
{
	*slot = (char *)text;
	*ret = (struct cmdline){ .src = slot, .n = 1 };
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

/* KEY's last occurrence in one source: 1 with *VALUE replaced, 0 absent, -ENOMEM. */
static int get_in(const char *text, const char *key, char **value)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = strlen(text) + 1;
	const char *p = text;
	int found = 0;
	char *k, *v;

	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	while ((p = next_param(p, buf, size, &k, &v))) {
		if (!streq(k, key))
			continue;
		free(*value);
		*value = NULL;
		if (v && !(*value = strdup(v)))
			return -ENOMEM;
		found = 1;
	}
	return found;
}

int cmdline_get(const struct cmdline *c, const char *key, char **ret_value)
{
	char *value = NULL;
	int found = 0, r;

	for (size_t i = 0; i < c->n; i++) {
		r = get_in(c->src[i], key, &value);
		if (r < 0) {
			free(value);
			return r;
		}
		found |= r;
	}
	if (found)
		*ret_value = value;
	return found;
}

bool cmdline_get_bool(const struct cmdline *c, const char *key, bool def)
{
	_cleanup_free_ char *v = NULL;
	int r = cmdline_get(c, key, &v);

	if (r <= 0)
		return def;
	if (!v || !*v || streq(v, "1") || streq(v, "yes") || streq(v, "on") || streq(v, "true"))
		return true;
	if (streq(v, "0") || streq(v, "no") || streq(v, "off"))
		return false;
	log_warning("%s=%s: dracut reads any value but 0, no and off as true; so does daxbus (use 0 or 1)", key, v);
	return true;
}
