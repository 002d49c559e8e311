# daxbus — see README.md.  `make` builds build/daxbus (static, musl, libkmod).
# SPDX-License-Identifier: GPL-2.0-only

VERSION    := 0.1.0
prefix     ?= /usr
sbindir    ?= $(prefix)/sbin
datadir    ?= $(prefix)/share
mandir     ?= $(datadir)/man
DRACUT_MODULES_DIR ?= $(prefix)/lib/dracut/modules.d
INITRAMFS_TOOLS_DIR ?= $(datadir)/initramfs-tools
DESTDIR    ?=

B          := build
CC         := musl-gcc
CFLAGS     ?= -Os -g0
WARN       := -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror=implicit-function-declaration
CPPFLAGS   += -D_GNU_SOURCE -DDAXBUS_VERSION='"$(VERSION)"' -I$(B)/gen -I$(B)/libkmod/include
LDFLAGS    ?=
SECTIONS   := -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-stack-protector

SRCS       := $(wildcard helper/*.c)
OBJS       := $(patsubst helper/%.c,$(B)/obj/%.o,$(SRCS))
LIBKMOD    := $(B)/libkmod/libkmod.o
DRACUT_MOD := dracut/50daxbus

.PHONY: all deps check check-unit check-boot bench demo install uninstall clean distclean syncheck

all: $(B)/daxbus

deps:
	@tools/deps.sh build

$(B)/.deps-build: tools/deps.sh
	@tools/deps.sh build
	@mkdir -p $(B) && touch $@

$(LIBKMOD): tools/libkmod.sh tools/apt-private.sh | $(B)/.deps-build
	tools/libkmod.sh $(B)/libkmod $(B)/cache

# Product texts come from the one file that holds each (the policy, the
# drop-ins `enable --dracut` and `enable --initramfs` write).
TEXTS      := modprobe.d/daxctl.conf dracut/daxbus.conf initramfs-tools/conf.d/daxbus
$(B)/gen/policy-text.h: $(TEXTS) tools/text-to-c.sh
	@mkdir -p $(@D)
	@tools/text-to-c.sh DAXBUS_POLICY_TEXT modprobe.d/daxctl.conf \
		DAXBUS_DRACUT_DROPIN_TEXT dracut/daxbus.conf \
		DAXBUS_ITOOLS_DROPIN_TEXT initramfs-tools/conf.d/daxbus > $@.tmp && mv $@.tmp $@

$(B)/obj/%.o: helper/%.c helper/*.h $(B)/gen/policy-text.h $(LIBKMOD)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(SECTIONS) -c $< -o $@

$(B)/daxbus: $(OBJS) $(LIBKMOD) Makefile
	@echo "  LD      $@"
	@$(CC) -static $(CFLAGS) $(LDFLAGS) -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,--build-id=none -s -o $@.tmp $(OBJS) $(LIBKMOD)
	@if readelf -d $@.tmp | grep -q NEEDED; then echo "$@: has NEEDED entries, not static" >&2; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@
	@echo "built $@ ($$(stat -c %s $@) bytes, static)"

install: $(B)/daxbus
	install -D -m 0755 $(B)/daxbus $(DESTDIR)$(sbindir)/daxbus
	install -D -m 0644 modprobe.d/daxctl.conf $(DESTDIR)$(datadir)/daxbus/daxctl.conf
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

uninstall:
	rm -f $(DESTDIR)$(sbindir)/daxbus $(DESTDIR)$(datadir)/daxbus/daxctl.conf \
	      $(DESTDIR)$(mandir)/man8/daxbus.8 $(DESTDIR)$(mandir)/man7/dracut.daxbus.7 \
	      $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks/daxbus $(DESTDIR)$(mandir)/man7/initramfs-tools.daxbus.7 \
	      $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/init-top/daxbus $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/init-bottom/daxbus
	rm -rf $(DESTDIR)$(DRACUT_MODULES_DIR)/50daxbus
	-rmdir $(DESTDIR)$(datadir)/daxbus

# Every test: hermetic ones, then the QEMU boot matrix.  Last line: "N passed, N failed".
check: all
	@tools/deps.sh test
	@tests/run.sh --all

check-unit: all
	@tools/deps.sh test
	@tests/run.sh --unit

check-boot: all
	@tools/deps.sh test
	@tests/run.sh --boot

bench: all
	@tools/deps.sh test bench
	@bench/bench.sh

demo: all
	@tools/deps.sh test
	@tests/boot/demo.sh

syncheck:
	shellcheck -x $$(tools/shell-files.sh bash)
	shellcheck -s sh $$(tools/shell-files.sh sh)
	for f in $$(tools/shell-files.sh sh); do bash --posix -n $$f && dash -n $$f || exit 1; done

clean:
	rm -rf $(B)/obj $(B)/gen $(B)/daxbus $(B)/tests

# Also drops the caches (kmod source, kernels, VM images).
distclean:
	rm -rf $(B)
