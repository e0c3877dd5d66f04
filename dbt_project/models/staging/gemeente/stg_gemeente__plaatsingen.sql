{{ stg_plaatsingen('gemeente') }}
