# daxbus — see README.md.  `make` builds build/daxbus (static, musl, libkmod).
# SPDX-License-Identifier: GPL-2.0-only

VERSION    := 0.2.0
prefix     ?= /usr
sbindir    ?= $(prefix)/sbin
datadir    ?= $(prefix)/share
mandir     ?= $(datadir)/man
docdir     ?= $(datadir)/doc/daxbus
DRACUT_MODULES_DIR ?= $(prefix)/lib/dracut/modules.d
INITRAMFS_TOOLS_DIR ?= $(datadir)/initramfs-tools
# Where bash-completion looks (its pkg-config file, for this prefix), else
# the path it uses by default.
BASH_COMPLETION_DIR ?= $(or $(shell pkg-config --define-variable=prefix=$(prefix) --variable=completionsdir bash-completion 2>/dev/null),$(datadir)/bash-completion/completions)
DESTDIR    ?=

B          ?= build
# musl (default) or glibc: the C library the static helper is linked with.
# glibc needs only gcc and libc6-dev (Debian) / glibc-static (Fedora, RHEL).
LIBC       ?= musl
ifeq ($(LIBC),musl)
CC         := musl-gcc
else ifeq ($(LIBC),glibc)
CC         := gcc
else
$(error LIBC must be musl or glibc, not '$(LIBC)')
endif
# The kmod that libkmod is built from (tools/kmod-sources.tsv lists them).
# KMOD_DEBIAN: Debian source version fetched with apt-get source (the default).
# KMOD_SOURCE: a kmod tarball or unpacked tree instead; no apt needed.
# KMOD_VERIFY=no: accept a KMOD_SOURCE whose checksum is in no row (warns).
KMOD_DEBIAN ?= 34.2-2
KMOD_SOURCE ?=
KMOD_VERIFY ?= yes
KMOD_CACHE ?= $(B)/cache
# AUTO_DEPS=0: never apt-get install anything (package builds, other distributions).
AUTO_DEPS  ?= 1
CFLAGS     ?= -Os -g0 -flto
# V=1 prints each compile and link command in full (the package builds set
# it: a build log that shows the flags, as blhc wants).
V          ?= 0
Q          := $(if $(filter 1,$(V)),,@)
WARN       := -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror=implicit-function-declaration
CPPFLAGS   += -D_GNU_SOURCE -DDAXBUS_VERSION='"$(VERSION)"' -I$(B)/gen -I$(B)/libkmod/include
LDFLAGS    ?=
# Before CFLAGS, so that a distribution's own choice (Fedora's
# -fasynchronous-unwind-tables) wins over ours.
SECTIONS   := -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
# Package builds keep a build-id and the symbols (BUILD_ID=sha1 STRIP_LINK=):
# dh_strip and find-debuginfo strip the helper and fill the debug packages.
BUILD_ID   ?= none
STRIP_LINK ?= -s

SRCS       := $(wildcard helper/*.c)
OBJS       := $(patsubst helper/%.c,$(B)/obj/%.o,$(SRCS))
LIBKMOD    := $(B)/libkmod/libkmod.o
DRACUT_MOD := dracut/50daxbus

.PHONY: all deps check check-unit check-boot check-fleet check-packages bench demo install uninstall clean distclean syncheck dist FORCE

all: $(B)/daxbus

deps:
	@tools/deps.sh build

$(B)/.deps-build: tools/deps.sh
	@if [ "$(AUTO_DEPS)" = 1 ]; then tools/deps.sh build; fi
	@mkdir -p $(B) && touch $@

# Runs every time: the script rebuilds only when the source, the compiler or
# the recipe changed, and otherwise leaves libkmod.o (and so the helper) alone.
$(LIBKMOD): FORCE | $(B)/.deps-build
	@CC='$(CC)' KMOD_DEBIAN='$(KMOD_DEBIAN)' KMOD_SOURCE='$(KMOD_SOURCE)' KMOD_VERIFY='$(KMOD_VERIFY)' \
		tools/libkmod.sh $(B)/libkmod $(KMOD_CACHE)

# Product texts come from the one file that holds each (the policy, the
# drop-ins `enable --dracut` and `enable --initramfs` write).
# dracut/daxbus-0.1.conf is what version 0.1 wrote, still recognised as daxbus's.
TEXTS      := modprobe.d/daxctl.conf dracut/daxbus.conf dracut/daxbus-0.1.conf initramfs-tools/conf.d/daxbus
$(B)/gen/policy-text.h: $(TEXTS) tools/text-to-c.sh
	@mkdir -p $(@D)
	@tools/text-to-c.sh DAXBUS_POLICY_TEXT modprobe.d/daxctl.conf \
		DAXBUS_DRACUT_DROPIN_TEXT dracut/daxbus.conf \
		DAXBUS_DRACUT_DROPIN_0_1_TEXT dracut/daxbus-0.1.conf \
		DAXBUS_ITOOLS_DROPIN_TEXT initramfs-tools/conf.d/daxbus > $@.tmp && mv $@.tmp $@

# Which kmod the helper links, for `daxbus --version` (from libkmod.sh's record).
$(B)/gen/build-info.h: $(LIBKMOD)
	@mkdir -p $(@D)
	@sed -n -e 's/^kmod_version=\(.*\)/#define DAXBUS_KMOD_VERSION "\1"/p' -e 's/^name=\(.*\)/#define DAXBUS_KMOD_SOURCE "\1"/p' \
		$(B)/libkmod/source.info > $@.tmp && mv $@.tmp $@

$(B)/obj/%.o: helper/%.c helper/*.h $(B)/gen/policy-text.h $(B)/gen/build-info.h $(LIBKMOD)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(WARN) $(CPPFLAGS) $(SECTIONS) $(CFLAGS) -c $< -o $@

$(B)/daxbus: $(OBJS) $(LIBKMOD) Makefile
	@echo "  LD      $@"
	$(Q)$(CC) -static $(CFLAGS) $(LDFLAGS) -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,--build-id=$(BUILD_ID) $(STRIP_LINK) -o $@.tmp $(OBJS) $(LIBKMOD)
	@if readelf -d $@.tmp | grep -q NEEDED; then echo "$@: has NEEDED entries, not static" >&2; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@
	@echo "built $@ ($$(stat -c %s $@) bytes, static)"

install: $(B)/daxbus
	install -D -m 0755 $(B)/daxbus $(DESTDIR)$(sbindir)/daxbus
	install -D -m 0644 modprobe.d/daxctl.conf $(DESTDIR)$(datadir)/daxbus/daxctl.conf
	install -D -m 0644 dracut/daxbus.conf $(DESTDIR)$(datadir)/daxbus/dracut.conf.d/daxbus.conf
	install -D -m 0644 dracut/daxbus-0.1.conf $(DESTDIR)$(datadir)/daxbus/dracut.conf.d/daxbus-0.1.conf
	install -D -m 0755 packaging/package-hook $(DESTDIR)$(datadir)/daxbus/package-hook
	@mkdir -p $(DESTDIR)$(DRACUT_MODULES_DIR)/50daxbus
	sed -e 's|@SBINDIR@|$(sbindir)|g' -e 's|@DATADIR@|$(datadir)|g' $(DRACUT_MOD)/module-setup.sh \
		> $(DESTDIR)$(DRACUT_MODULES_DIR)/50daxbus/module-setup.sh
	chmod 0755 $(DESTDIR)$(DRACUT_MODULES_DIR)/50daxbus/module-setup.sh
	for f in $(filter-out %/module-setup.sh,$(wildcard $(DRACUT_MOD)/*)); do \
		install -D -m 0644 $$f $(DESTDIR)$(DRACUT_MODULES_DIR)/50daxbus/$$(basename $$f) || exit 1; done
	install -D -m 0644 man/daxbus.8 $(DESTDIR)$(mandir)/man8/daxbus.8
	install -D -m 0644 man/dracut.daxbus.7 $(DESTDIR)$(mandir)/man7/dracut.daxbus.7
	@mkdir -p $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks
	sed -e 's|@SBINDIR@|$(sbindir)|g' -e 's|@DATADIR@|$(datadir)|g' initramfs-tools/hooks/daxbus \
		> $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks/daxbus
	chmod 0755 $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks/daxbus
	install -D -m 0755 initramfs-tools/scripts/init-top/daxbus $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/init-top/daxbus
	install -D -m 0755 initramfs-tools/scripts/init-bottom/daxbus $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/init-bottom/daxbus
	install -D -m 0644 man/initramfs-tools.daxbus.7 $(DESTDIR)$(mandir)/man7/initramfs-tools.daxbus.7
	install -D -m 0644 completion/daxbus $(DESTDIR)$(BASH_COMPLETION_DIR)/daxbus
	for f in examples/*/*; do install -D -m 0644 $$f $(DESTDIR)$(docdir)/$$f || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(sbindir)/daxbus $(DESTDIR)$(datadir)/daxbus/daxctl.conf \
	      $(DESTDIR)$(mandir)/man8/daxbus.8 $(DESTDIR)$(mandir)/man7/dracut.daxbus.7 \
	      $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks/daxbus $(DESTDIR)$(mandir)/man7/initramfs-tools.daxbus.7 \
	      $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/init-top/daxbus $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/init-bottom/daxbus \
	      $(DESTDIR)$(BASH_COMPLETION_DIR)/daxbus
	rm -rf $(DESTDIR)$(docdir)/examples
	-rmdir $(DESTDIR)$(docdir)
	rm -rf $(DESTDIR)$(DRACUT_MODULES_DIR)/50daxbus $(DESTDIR)$(datadir)/daxbus/dracut.conf.d $(DESTDIR)$(datadir)/daxbus/package-hook
	-rmdir $(DESTDIR)$(datadir)/daxbus

# Every test: hermetic ones (tests/packages/packages.sh among them), then the
# QEMU boot matrix.  Last line: "N passed, N failed".
check: all
	@tools/deps.sh test package
	@tests/run.sh --all

check-unit: all
	@tools/deps.sh test package
	@tests/run.sh --unit

# Release tarball, .deb, .rpm, other builds (tests/packages/packages.sh) alone.
check-packages: all
	@tools/deps.sh test package
	@tests/run.sh packages/packages

# package: the hostonly cells install the .deb (dpkg-buildpackage) in the guest.
# check-boot is every boot cell; check (above) leaves out the fleet and
# cloudinit cells, which check-fleet runs alone (README, "Tests").
check-boot: all
	@tools/deps.sh test package
	@BOOT_FLEET=$${BOOT_FLEET:-1} tests/run.sh --boot

check-fleet: all
	@tools/deps.sh test package
	@BOOT_FLEET=only tests/run.sh --boot

bench: all
	@tools/deps.sh test bench
	@bench/bench.sh

demo: all
	@tools/deps.sh test
	@tests/harness/demo.sh

syncheck:
	shellcheck -x $$(tools/shell-files.sh bash)
	shellcheck -s sh $$(tools/shell-files.sh sh)
	for f in $$(tools/shell-files.sh sh); do bash --posix -n $$f && dash -n $$f || exit 1; done

# daxbus-VERSION.tar.gz: the committed tree (git archive), so a build never
# needs git; the Debian orig tarballs (below); the Ansible collection.
# Refuses when tracked files have uncommitted changes: the tarball would not
# be what they contain.
DIST       := daxbus-$(VERSION)
dist:
	@command -v git >/dev/null && [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$$(pwd -P)" ] || \
		{ echo "make dist: needs a git checkout of daxbus (the tarball is made from the committed tree)" >&2; exit 1; }
	@if [ -n "$$(git status --porcelain --untracked-files=no)" ]; then \
		echo "make dist: tracked files have uncommitted changes; commit or stash them first:" >&2; \
		git status --short --untracked-files=no >&2; exit 1; fi
	@mkdir -p $(B)
	git archive --format=tar --prefix=$(DIST)/ HEAD | gzip -n -9 > $(B)/$(DIST).tar.gz.tmp
	@mv $(B)/$(DIST).tar.gz.tmp $(B)/$(DIST).tar.gz
	@echo "built $(B)/$(DIST).tar.gz ($$(git rev-parse --short HEAD))"
	@# The Debian source package: the same tarball as its orig, and kmod's
	@# source (KMOD_DEBIAN's orig tarball, checked by its sha256) as the
	@# component that debian/rules builds libkmod from.
	@cp $(B)/$(DIST).tar.gz $(B)/daxbus_$(VERSION).orig.tar.gz
	@k=$$(KMOD_DEBIAN='$(KMOD_DEBIAN)' tools/libkmod.sh --fetch $(KMOD_CACHE)) && \
		cp "$$k" $(B)/daxbus_$(VERSION).orig-kmod.tar.xz.tmp && mv $(B)/daxbus_$(VERSION).orig-kmod.tar.xz.tmp $(B)/daxbus_$(VERSION).orig-kmod.tar.xz
	@echo "built $(B)/daxbus_$(VERSION).orig.tar.gz and $(B)/daxbus_$(VERSION).orig-kmod.tar.xz (kmod $(KMOD_DEBIAN)), the Debian source package's"
	@command -v ansible-galaxy >/dev/null || \
		{ echo "make dist: ansible-galaxy is missing for the Ansible collection (apt-get install ansible-core)" >&2; exit 1; }
	@rm -rf $(B)/dist-ansible && mkdir -p $(B)/dist-ansible
	@git archive --format=tar HEAD ansible | tar -x -C $(B)/dist-ansible
	@ansible-galaxy collection build --force --output-path $(B) $(B)/dist-ansible/ansible >/dev/null
	@rm -rf $(B)/dist-ansible
	@echo "built $(B)/daxbus-daxbus-$(VERSION).tar.gz (the Ansible collection daxbus.daxbus)"

FORCE:

clean:
	rm -rf $(B)/obj $(B)/gen $(B)/daxbus $(B)/tests

# Also drops the caches (kmod source, kernels, VM images).
distclean:
	rm -rf $(B)

# --- Reliability: an ASan/UBSan build, libFuzzer harnesses, and the suite
# of tests/reliability (fault injection, hostile roots, concurrency) with one
# figures table.  clang from Debian, glibc, not static.
#   make asan                      build/asan/daxbus + the hermetic tests on it
#   make fuzz FUZZ_SECONDS=3600    each harness for an hour (corpus kept in
#                                  build/tests/fuzz-corpus, crashes next to it)
#   make check-reliability         everything above, bounded, plus the table
#                                  (concurrency: CONC_RUNS runs, 3000),
#                                  and the power-cut instants (two boot
#                                  cells, tests/reliability/instants.sh)
CLANG        ?= clang-14
FUZZ_SECONDS ?= 15
# make check-reliability races ten times the runs make check does (300).
CONC_RUNS    ?= 3000
SAN          := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_B       := $(B)/asan
ASAN_LIBKMOD := $(ASAN_B)/libkmod/libkmod.o
ASAN_CPPFLAGS = $(filter-out -I$(B)/libkmod/include,$(CPPFLAGS)) -I$(ASAN_B)/libkmod/include
ASAN_OBJS    := $(patsubst helper/%.c,$(ASAN_B)/obj/%.o,$(SRCS))
FUZZ_B       := $(B)/fuzz
FUZZERS      := cli kmodconf_equivalent modconf_scan cmdline
FUZZ_BINS    := $(FUZZERS:%=$(FUZZ_B)/fuzz_%)
# What each harness links: only the files it needs.  The command-line
# parser's table names every command, so that one links the whole helper
# (main.c with its main() renamed) and libkmod.
FUZZ_OBJS_kmodconf_equivalent := kmodconf
FUZZ_OBJS_modconf_scan        := kmodconf
FUZZ_OBJS_cmdline             := cmdline chase fileio log util
FUZZ_OBJS_cli                 := $(patsubst helper/%.c,%,$(SRCS))
FUZZ_LIBS_cli                 := $(ASAN_LIBKMOD)

.PHONY: asan asan-build fuzz fuzz-build check-reliability

$(B)/.deps-rel: tools/deps.sh
	@tools/deps.sh build rel
	@mkdir -p $(B) && touch $@

# libkmod compiled by clang against glibc (not instrumented: it is not ours).
$(ASAN_LIBKMOD): tools/libkmod.sh tools/apt-private.sh | $(B)/.deps-rel
	CC=$(CLANG) KMOD_DEBIAN=$(KMOD_DEBIAN) KMOD_SOURCE=$(KMOD_SOURCE) KMOD_VERIFY=$(KMOD_VERIFY) tools/libkmod.sh $(ASAN_B)/libkmod $(KMOD_CACHE)

$(ASAN_B)/obj/%.o: helper/%.c helper/*.h $(B)/gen/policy-text.h $(B)/gen/build-info.h $(ASAN_LIBKMOD)
	@mkdir -p $(@D)
	@echo "  CC-ASAN $<"
	@$(CLANG) $(WARN) $(ASAN_CPPFLAGS) -g -O1 $(SAN) -c $< -o $@

$(ASAN_B)/daxbus: $(ASAN_OBJS) $(ASAN_LIBKMOD)
	@echo "  LD-ASAN $@"
	@$(CLANG) $(SAN) -g -o $@ $^

asan-build: $(ASAN_B)/daxbus

asan: asan-build
	@tools/deps.sh test
	@tests/reliability/asan.sh

$(FUZZ_B)/obj/%.o: helper/%.c helper/*.h $(B)/gen/policy-text.h $(B)/gen/build-info.h $(ASAN_LIBKMOD)
	@mkdir -p $(@D)
	@echo "  CC-FUZZ $<"
	@$(CLANG) $(WARN) $(ASAN_CPPFLAGS) -Ihelper -g -O1 $(SAN) -fsanitize=fuzzer-no-link -Dmain=daxbus_main -c $< -o $@

.SECONDEXPANSION:
$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c $$(addprefix $(FUZZ_B)/obj/,$$(addsuffix .o,$$(FUZZ_OBJS_$$*))) $$(FUZZ_LIBS_$$*) helper/*.h
	@echo "  FUZZ    $@"
	@$(CLANG) $(ASAN_CPPFLAGS) -Ihelper -g -O1 $(SAN) -fsanitize=fuzzer -o $@ $< $(filter %.o,$^)

fuzz-build: $(FUZZ_BINS)
# keep the objects between builds
.SECONDARY: $(patsubst helper/%.c,$(FUZZ_B)/obj/%.o,$(SRCS))

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/reliability/fuzz.sh

check-reliability: all asan-build fuzz-build
	@tools/deps.sh test
	@RELIABILITY_BOOTS=1 FUZZ_SECONDS=$(FUZZ_SECONDS) CONC_RUNS=$(CONC_RUNS) tests/reliability/check.sh
