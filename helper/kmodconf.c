// SPDX-License-Identifier: GPL-2.0-only
/* kmod's reading of modprobe.d files, re-done from its documented behaviour.  See kmodconf.h. */
#include "kmodconf.h"
#include "util.h"

int kmodconf_foreach_line(const char *buf, size_t len, enum kmod_reading reading,
			  int (*fn)(const char *line, void *userdata), void *userdata)
{
	_cleanup_free_ char *line = NULL;
	size_t n = 0;
	int r;

	line = malloc(len + 2);
	if (!line)
		return -ENOMEM;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || buf[i] == '\n') {
			if (i == len && n == 0)
				break;
			line[n] = '\0'; /* a NUL inside ends the text here, as strtok sees it */
			r = fn(line, userdata);
			if (r != 0)
				return r;
			n = 0;
			continue;
		}
		if (buf[i] == '\\') {
			if (i + 1 == len) {
				/* kmod 34 drops it; 28 to 33 keep getc()'s EOF, a 0xff byte */
				if (reading == KMOD_READING_28)
					line[n++] = (char)0xff;
				continue;
			}
			if (buf[i + 1] == '\n') {
				i++; /* joined with the next line */
				continue;
			}
			i++; /* the backslash itself is dropped */
		}
		line[n++] = buf[i];
	}
	return 0;
}

/* kmod's underscores(): "-" becomes "_" outside [...]; unbalanced brackets are an error. */
static int underscores(char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '-')
			s[i] = '_';
		else if (s[i] == ']')
			return -EINVAL;
		else if (s[i] == '[') {
			i += strcspn(s + i, "]");
			if (!s[i])
				return -EINVAL;
		}
	}
	return 0;
}

struct directives {
	enum kmod_reading reading;
	char **v;
	size_t n;
	bool oom;
	bool dax;
};

static void add(struct directives *d, const char *a, const char *b, const char *c)
{
	char *s, **nv;

	if (asprintf(&s, "%s\t%s%s%s", a, b, c ? "\t" : "", c ? c : "") < 0) {
		d->oom = true;
		return;
	}
	for (size_t i = 0; i < d->n; i++)
		if (streq(d->v[i], s)) {
			free(s);
			return;
		}
	nv = realloc(d->v, (d->n + 1) * sizeof(*nv));
	if (!nv) {
		free(s);
		d->oom = true;
		return;
	}
	d->v = nv;
	d->v[d->n++] = s;
	if (strstr(s, "dax") || strstr(s, "nd:t"))
		d->dax = true;
}

/* One logical line, parsed the way kmod_config_parse() does. */
static int collect(const char *text, void *userdata)
{
	struct directives *d = userdata;
	_cleanup_free_ char *line = NULL;
	char *cmd, *save = NULL;

	if (text[0] == '\0' || text[0] == '#')
		return 0;
	line = strdup(text);
	if (!line)
		return -ENOMEM;
	cmd = strtok_r(line, "\t ", &save);
	if (!cmd)
		return 0;
	if (streq(cmd, "alias")) {
		char *alias = strtok_r(NULL, "\t ", &save), *mod = strtok_r(NULL, "\t ", &save);

		if (underscores(alias) == 0 && underscores(mod) == 0)
			add(d, cmd, alias, mod);
	} else if (streq(cmd, "blacklist")) {
		char *mod = strtok_r(NULL, "\t ", &save);

		if (underscores(mod) == 0)
			add(d, cmd, mod, NULL);
	} else if (streq(cmd, "options") || streq(cmd, "install") || streq(cmd, "remove") || streq(cmd, "softdep") ||
		   (streq(cmd, "weakdep") && d->reading == KMOD_READING_34)) {
		char *mod = strtok_r(NULL, "\t ", &save), *rest = strtok_r(NULL, "", &save);

		if (underscores(mod) == 0 && rest)
			add(d, cmd, mod, rest);
	}
	/* anything else kmod ignores, and so do we */
	return 0;
}

static void directives_free(struct directives *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
}

static int parse(const char *text, size_t len, enum kmod_reading reading, struct directives *ret)
{
	struct directives d = { .reading = reading };
	int r;

	if (len > KMODCONF_MAX)
		return -EFBIG;
	r = kmodconf_foreach_line(text, len, reading, collect, &d);
	if (r == 0 && d.oom)
		r = -ENOMEM;
	if (r < 0) {
		directives_free(&d);
		return r;
	}
	*ret = d;
	return 0;
}

static bool equivalent_for(const char *a, size_t alen, const char *b, size_t blen, enum kmod_reading reading)
{
	struct directives da, db;
	bool same;

	if (parse(a, alen, reading, &da) < 0)
		return false;
	if (parse(b, blen, reading, &db) < 0) {
		directives_free(&da);
		return false;
	}
	same = da.n == db.n;
	for (size_t i = 0; same && i < da.n; i++) {
		bool found = false;

		for (size_t j = 0; !found && j < db.n; j++)
			found = streq(da.v[i], db.v[j]);
		same = found;
	}
	directives_free(&da);
	directives_free(&db);
	return same;
}

bool kmodconf_equivalent(const char *a, size_t alen, const char *b, size_t blen)
{
	return equivalent_for(a, alen, b, blen, KMOD_READING_28) && equivalent_for(a, alen, b, blen, KMOD_READING_34);
}

bool kmodconf_mentions_dax(const char *text, size_t len)
{
	static const enum kmod_reading readings[] = { KMOD_READING_28, KMOD_READING_34 };
	bool dax = false;

	for (size_t i = 0; i < ELEMENTSOF(readings); i++) {
		struct directives d;

		if (parse(text, len, readings[i], &d) < 0)
			continue;
		dax |= d.dax;
		directives_free(&d);
	}
	return dax;
}

struct normalized {
	char *buf;
	size_t len, size;
};

static int emit(const char *line, void *userdata)
{
	struct normalized *o = userdata;
	size_t need = 2 * strlen(line) + 2;

	if (o->len + need >= o->size) {
		size_t size = (o->len + need) * 2;
		char *nb = realloc(o->buf, size);

		if (!nb)
			return -ENOMEM;
		o->buf = nb;
		o->size = size;
	}
	for (const char *p = line; *p; p++) {
		if (*p == '\\')
			o->buf[o->len++] = '\\';
		o->buf[o->len++] = *p;
	}
	o->buf[o->len++] = '\n';
	o->buf[o->len] = '\0';
	return 0;
}

int kmodconf_normalize(const char *text, size_t len, char **ret, size_t *ret_len)
{
	struct normalized o = { 0 };
	int r;

	o.buf = malloc(1);
	if (!o.buf)
		return -ENOMEM;
	o.buf[0] = '\0';
	o.size = 1;
	r = kmodconf_foreach_line(text, len, KMOD_READING_34, emit, &o);
	if (r < 0) {
		free(o.buf);
		return r;
	}
	*ret = o.buf;
	if (ret_len)
		*ret_len = o.len;
	return 0;
}
