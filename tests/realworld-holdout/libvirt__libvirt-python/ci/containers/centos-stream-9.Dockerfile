# THIS FILE WAS AUTO-GENERATED
#
#  $ lcitool manifest ci/manifest.yml
#
# https://gitlab.com/libvirt/libvirt-ci

FROM quay.io/centos/centos:stream9

RUN dnf --quiet distro-sync -y && \
    dnf --quiet install 'dnf-command(config-manager)' -y && \
    dnf --quiet config-manager --set-enabled -y crb && \
    dnf --quiet install -y epel-release && \
    dnf --quiet install -y epel-next-release && \
    dnf --quiet install -y \
                ca-certificates \
                ccache \
                cpp \
                gcc \
                gettext \
                git \
                glib2-devel \
                glibc-devel \
                glibc-langpack-en \
                gnutls-devel \
                libnl3-devel \
                libtirpc-devel \
                libvirt-devel \
                libxml2 \
                libxml2-devel \
                libxslt \
                make \
                meson \
                ninja-build \
                perl-base \
                pkgconfig \
                python3 \
                python3-build \
                python3-devel \
                python3-docutils \
                python3-lxml \
                python3-pip \
                python3-pytest \
                python3-setuptools \
                python3-wheel \
                rpm-build && \
    dnf --quiet autoremove -y && \
    dnf --quiet clean all -y && \
    rm -f /usr/lib*/python3*/EXTERNALLY-MANAGED && \
    rpm -qa | sort > /packages.txt && \
    mkdir -p /usr/libexec/ccache-wrappers && \
    ln -s /usr/bin/ccache /usr/libexec/ccache-wrappers/cc && \
    ln -s /usr/bin/ccache /usr/libexec/ccache-wrappers/gcc

ENV CCACHE_WRAPPERSDIR="/usr/libexec/ccache-wrappers"
ENV LANG="en_US.UTF-8"
ENV MAKE="/usr/bin/make"
ENV NINJA="/usr/bin/ninja"
ENV PYTHON="/usr/bin/python3"
