#!/bin/sh
# PID 1 of fbreplay's guest kernels (`fbreplay vm`): the host's root is / (9p, read-only). Mounts the scratch
# filesystems and the host's out share (tag fbout), runs the command the host left there (cmd.sh), with stdout in
# stdout, stderr on the second serial port (the host shows it live), the exit status in status, then reboots,
# which ends qemu (-no-reboot). Anything failing here shows in the console log the host prints.
mount -t proc proc /proc
mount -t sysfs sys /sys
# The host's /tmp and /var/tmp, kept at /mnt before the guest's own scratch hides them: paths the host lists in
# binds (a clone of the repository below /tmp, the command's working directory) are bound back from there.
mount -t tmpfs -o mode=755 hold /mnt
mkdir -p /mnt/tmp /mnt/var/tmp
mount --bind /tmp /mnt/tmp
mount --bind /var/tmp /mnt/var/tmp
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=755 run /run
mount -t tmpfs -o mode=1777 vartmp /var/tmp
mkdir -p /run/out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 fbout /run/out
while read -r path; do
	[ -n "$path" ] || continue
	mkdir -p "$path" && mount --bind "/mnt$path" "$path"
done </run/out/binds
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
export HOME=/tmp TMPDIR=/tmp FBREPLAY_VM_OUT=/run/out LANG=C.UTF-8
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo "fbreplay-guest: running $(cat /run/out/argv 2>/dev/null)"
sh /run/out/cmd.sh >/run/out/stdout 2>/dev/ttyS1 </dev/null
echo $? >/run/out/status
sync
umount /run/out
echo b >/proc/sysrq-trigger
