#!/bin/sh
echo "hello from the clean sample"
