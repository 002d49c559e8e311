/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small streaming JSON writer (the idea of util-linux's jsonwrt): objects,
 * arrays and typed values, commas and escaping in one place.  Strings that
 * are not valid UTF-8 (file names can be anything) are written with each
 * bad byte replaced by U+FFFD, so the output is always valid JSON.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

struct json {
	FILE *f;
	unsigned depth;
	bool need_comma[32];
};

void json_init(struct json *j, FILE *f);
/* KEY is NULL inside arrays and for the top level. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value); /* NULL: null */
void json_bool(struct json *j, const char *key, bool value);
void json_int(struct json *j, const char *key, long long value);
void json_null(struct json *j, const char *key);
