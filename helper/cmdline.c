// SPDX-License-Identifier: GPL-2.0-only
/* Kernel command line parsing with dracut's sources and the kernel's quoting. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmdline.h"
#include "rootdir.h"
#include "util.h"

#define CMDLINE_MAX (64 * 1024)

static int append(char **acc, size_t *len, const char *text)
{
	size_t n = strlen(text);
	char *p = realloc(*acc, *len + n + 2);

	if (!p)
		return -ENOMEM;
	memcpy(p + *len, text, n);
	*len += n;
	p[(*len)++] = ' ';
	p[*len] = '\0';
	*acc = p;
	return 0;
}

static int append_file(int rootfd, const char *path, char **acc, size_t *len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	int r;

	r = root_openat(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = read_fd(fd, CMDLINE_MAX, &text, NULL);
	if (r < 0)
		return r;
	/* dracut reads these line by line and joins the lines with spaces */
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return append(acc, len, text);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmdline_read(int rootfd, char **ret)
{
	_cleanup_free_ char *acc = NULL;
	size_t len = 0;
	DIR *d;
	int r;

	acc = strdup("");
	if (!acc)
		return -ENOMEM;

	/* the .conf files of etc/cmdline.d, in glob (sorted) order */
	r = root_opendir(rootfd, "etc/cmdline.d", &d);
	if (r == 0) {
		char **names = NULL;
		size_t n = 0;
		struct dirent *de;

		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			char **nn;

			if (de->d_name[0] == '.' || l < 5 || !streq(de->d_name + l - 5, ".conf"))
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
		qsort(names, n, sizeof(*names), cmp_str);
		for (size_t i = 0; i < n; i++) {
			char path[300];

			snprintf(path, sizeof(path), "etc/cmdline.d/%s", names[i]);
			if (r == 0)
				r = append_file(rootfd, path, &acc, &len);
			free(names[i]);
		}
		free(names);
		if (r < 0)
			return r;
	} else if (r != -ENOENT && r != -ENOTDIR)
		return r;

	r = append_file(rootfd, "etc/cmdline", &acc, &len);
	if (r < 0)
		return r;
	r = append_file(rootfd, "proc/cmdline", &acc, &len);
	if (r < 0)
		return r;
	*ret = acc;
	acc = NULL;
	return 0;
}

/* Split off the next parameter like the kernel does: spaces end it unless quoted. */
static const char *next_param(const char *s, char *buf, size_t size)
{
	bool quoted = false;
	size_t n = 0;

	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	for (; *s && (quoted || *s != ' '); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 < size)
			buf[n++] = *s;
	}
	buf[n] = '\0';
	return s;
}

int cmdline_get(const char *cmdline, const char *key, char **ret_value)
{
	char param[4096];
	size_t kl = strlen(key);
	int found = 0;
	char *value = NULL;

	while ((cmdline = next_param(cmdline, param, sizeof(param)))) {
		if (strncmp(param, key, kl) != 0 || (param[kl] != '\0' && param[kl] != '='))
			continue;
		free(value);
		value = NULL;
		if (param[kl] == '=') {
			value = strdup(param + kl + 1);
			if (!value)
				return -ENOMEM;
		}
		found = 1;
	}
	if (found)
		*ret_value = value;
	return found;
}

int cmdline_get_bool(const char *cmdline, const char *key, int def)
{
	_cleanup_free_ char *v = NULL;
	int r = cmdline_get(cmdline, key, &v);

	if (r <= 0)
		return def;
	if (!v || streq(v, "1") || streq(v, "yes") || streq(v, "on") || streq(v, "true"))
		return 1;
	if (streq(v, "0") || streq(v, "no") || streq(v, "off") || streq(v, "false"))
		return 0;
	log_warn("ignoring %s=%s: not a boolean (use 0 or 1); using the default %d", key, v, def);
	return def;
}
